"""What a fitted model tells: choosing K, comparing methods, anomalies, scores, metrics."""
