"""One script per claim of the original study: fidelity, compression, transfer."""
