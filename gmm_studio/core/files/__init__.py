"""What GMM Studio writes and reads: atomic writes, labels CSV, model and session files."""
