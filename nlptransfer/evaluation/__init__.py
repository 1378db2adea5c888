"""Evaluation: metrics, calibration, bootstrap intervals, the one harness, metric files, report
pages, the run report and plots. Works from predictions and saved numbers; never trains."""
