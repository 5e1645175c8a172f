"""Evaluation: judge classifiers, conditional accuracy and image quality (no Qt).

A *judge* is a classifier trained on a dataset's real images for its condition
space. It scores generated images (does the image show the condition it was
asked for?) and lends its penultimate features to FID/KID when the standard
Inception network is not available.
"""
