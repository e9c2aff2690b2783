"""The latent-space explorer: sliders along discovered directions, interpolation, style mixing, class picker and
export, around an ExplorerModel that renders off the GUI thread."""
