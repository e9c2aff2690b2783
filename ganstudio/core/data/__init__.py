"""Training data: torchvision datasets, image folders and toy 2D distributions behind one indexable source.

The public names are re-exported here; code inside GAN Studio imports from the module that defines them:
sources (DatasetInfo, TrainingData, load_data, native sizes), decode (one image file and its safety checks),
folders (scan_folder), torchvision_sets (downloads, conversion), streaming (sets larger than memory), toy.
"""
from ganstudio.core.data.folders import IMAGE_EXTENSIONS, FolderScan, Progress, SkippedFile, scan_folder
from ganstudio.core.data.sources import DatasetInfo, TrainingData, load_data, native_channels, native_resolution
from ganstudio.core.data.torchvision_sets import CELEBA_CROP
from ganstudio.core.data.toy import ToySet, toy_distribution

__all__ = ["CELEBA_CROP", "IMAGE_EXTENSIONS", "DatasetInfo", "FolderScan", "Progress", "SkippedFile", "ToySet",
           "TrainingData", "load_data", "native_channels", "native_resolution", "scan_folder", "toy_distribution"]
