"""File > Edit a photo: align a face photo, project it into a StyleGAN's latent space, edit it in the explorer and
paste it back."""
