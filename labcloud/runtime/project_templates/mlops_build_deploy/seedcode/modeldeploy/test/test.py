"""Check the staging endpoint before anyone approves the promotion: it is InService and it answers."""

import argparse
import json
import sys

import boto3

SAMPLE = "12,70.5,3\n60,25.0,0\n"  # tenure, monthly_charges, support_calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-build-config", required=True)
    args = parser.parse_args()
    with open(args.import_build_config) as file:
        parameters = json.load(file)["Parameters"]
    endpoint = f"{parameters['SageMakerProjectName']}-{parameters['StageName']}"

    status = boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
    if status != "InService":
        sys.exit(f"the endpoint {endpoint} is {status}, not InService")
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=SAMPLE)
    predictions = answer["Body"].read().decode().split()
    print(f"{endpoint} answered {predictions}")
    if len(predictions) != 2 or not set(predictions) <= {"0", "1", "0.0", "1.0"}:
        sys.exit(f"unexpected predictions from {endpoint}: {predictions}")


if __name__ == "__main__":
    main()
