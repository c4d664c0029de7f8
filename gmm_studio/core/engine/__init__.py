"""Fitting: passes over row blocks, M-steps, starts, and the EM and k-means loops.

``fitting`` (fit, iterate: the entry points), ``em`` (one soft or hard EM
run), ``kmeans`` and ``lloyd`` (k-means runs and their pass), ``starts``
(initialisation), ``mstep`` (parameters from statistics, floor, re-seeding),
``passes`` (E-step passes), ``prepared`` (validated, centred data),
``parallel`` (blocks on threads), ``notes`` (warnings in words) and
``streamed`` (soft EM over a row cache on disk).
"""
