"""Editing a real photo: align the face to a model's template (`align`), project it into the latent space
(`projection`, with the losses of `loss`), optionally tune the generator around it (pivotal tuning), and paste the
edited face back into the photo. Qt-free; the GUI and `ganstudio project` drive it."""
