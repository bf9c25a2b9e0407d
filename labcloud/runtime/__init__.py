"""labcloud runtime: the SageMaker container contracts (training, serving) as local processes."""
