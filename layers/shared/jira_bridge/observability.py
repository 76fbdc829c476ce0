"""Powertools Logger, Tracer and Metrics, created once and imported everywhere.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, which
template.yaml sets per function. Creating these objects does no I/O.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(log_uncaught_exceptions=True)
tracer = Tracer()
metrics = Metrics()
