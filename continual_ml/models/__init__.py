"""Trained models at rest: the BentoML model store the service follows, and the types a stored
model may hold. Training writes here, promotion points at a model, serving reads it."""
