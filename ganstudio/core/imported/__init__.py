"""Networks rebuilt from other projects' checkpoints (NVIDIA StyleGAN2/StyleGAN3), in plain PyTorch."""
