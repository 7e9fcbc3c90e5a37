"""Evaluation: the Go Elo ladder against real engines, knowledge metrics, tabletop success rates, reports."""
