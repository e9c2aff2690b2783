"""Measuring what a GAN learned: FID, KID, IS, precision/recall, density/coverage and mode coverage."""
from ganstudio.core.metrics.evaluate import METRICS, Evaluator, evaluate
from ganstudio.core.metrics.extractors import FeatureExtractor, extractor_names, get_extractor, register_extractor

__all__ = ["METRICS", "Evaluator", "FeatureExtractor", "evaluate", "extractor_names", "get_extractor",
           "register_extractor"]
