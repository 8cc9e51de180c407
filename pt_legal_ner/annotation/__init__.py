"""Annotating documents into records: the single-machine loop (``records``), the same on a Ray
cluster (``on_ray``), the displaCy pages (``render``) and the set-up of an annotating process."""
