"""Tests of the department simulators, each run as a real subprocess."""
