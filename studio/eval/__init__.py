"""Evaluation: judge classifiers, conditional accuracy and image quality (no Qt).

A *judge* is a classifier trained on a dataset's real images for its condition
space. It scores generated images (does the image show the condition it was
asked for?) and lends its penultimate features to FID/KID as a second feature
space beside the standard Inception network (:mod:`studio.eval.inception`,
offline). Beside FID, KID and IS: precision, recall, density and coverage
(:mod:`studio.eval.measures`), intra-class FID, and the classification accuracy
score (:mod:`studio.eval.cas`).
"""
