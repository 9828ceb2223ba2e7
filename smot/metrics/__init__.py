"""Metrics of `smot score`: tracking (HOTA, CLEAR, Identity), captions, interactions, matching, CHOTA.

Each module computes one family from plain arrays and strings, with no files and no printing; the
score stage (smot/stages/score.py) feeds them the records of the result and ground-truth streams.
"""
