"""Training a candidate: the scikit-learn pipeline, its evaluation, metrics and plots."""
