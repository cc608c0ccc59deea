"""Environment Department simulator: outsourced screening with signed async callbacks."""
