"""sagemaker-runtime: InvokeEndpoint routed to the model-server processes of an endpoint."""
