"""System tests: the platform as real processes against real department simulators."""
