"""Moving runs between nbmodelbook and other experiment trackers.

`mlflow_mapping` holds the pure translations between run records and MLflow runs;
`mlflow_client` reaches MLflow (an optional dependency); `mlflow_export` and `mlflow_import`
do the transfers that `nbmodelbook export-mlflow` and `nbmodelbook import-mlflow` run.
"""
