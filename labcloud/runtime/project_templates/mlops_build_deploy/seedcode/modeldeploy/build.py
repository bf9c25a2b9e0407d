"""Find the newest Approved version of the project's model package group and write the CloudFormation
configuration of the staging and production stages (the template's parameters) for the deploy stages."""

import argparse
import json
import sys

import boto3


def newest_approved(client, group):
    packages = client.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved",
                                          SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    summaries = packages["ModelPackageSummaryList"]
    if not summaries:
        sys.exit(f"No approved ModelPackage found for ModelPackageGroup: {group}. Approve a version in the "
                 f"model registry first.")
    return summaries[0]["ModelPackageArn"]


def stage_config(path, parameters):
    with open(path) as file:
        config = json.load(file)
    config["Parameters"] = {**config.get("Parameters", {}), **parameters}
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-package-group-name", required=True)
    parser.add_argument("--model-execution-role", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--import-staging-config", required=True)
    parser.add_argument("--import-prod-config", required=True)
    parser.add_argument("--export-staging-config", required=True)
    parser.add_argument("--export-prod-config", required=True)
    args = parser.parse_args()

    package = newest_approved(boto3.client("sagemaker"), args.model_package_group_name)
    print(f"deploying {package}")
    shared = {"SageMakerProjectName": args.project_name, "SageMakerProjectId": args.project_id,
              "ModelPackageName": package, "ModelExecutionRoleArn": args.model_execution_role}
    for source, target in ((args.import_staging_config, args.export_staging_config),
                           (args.import_prod_config, args.export_prod_config)):
        with open(target, "w") as file:
            json.dump(stage_config(source, shared), file, indent=2)


if __name__ == "__main__":
    main()
