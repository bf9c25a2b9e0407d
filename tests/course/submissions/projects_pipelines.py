"""Kept submissions of the Projects lab (13 autograded points: project 2, pipeline 3, steps 2,
approval 2, promotion 2, worse model 2)."""
from tests.course.submissions import Submission, chain, replace, source

FULL = 13

SUBMISSIONS = [
    Submission(
        "alternative-right", FULL,
        "TemplateProviders instead of Service Catalog; ConditionOr of two ConditionLessThan, branches swapped; the "
        "newest version read from the registry; staging called through a Predictor; worse data instead "
        "of a worse hyperparameter: all right, so full marks",
        {
            "answer-create-project": source('''
created = sm.create_project(
    ProjectName=project_name,
    ProjectDescription="Churn: CI/CD from a template in S3",
    TemplateProviders=[{"CfnTemplateProvider": {"TemplateName": "mlops", "TemplateURL": template_url}}],
)
project_id = created["ProjectId"]
status = wait_for(lambda: (lambda s: s if s not in ("Pending", "CreateInProgress") else None)(
    sm.describe_project(ProjectName=project_name)["ProjectStatus"]), "the project")
'''),
            "answer-pipeline": chain(
                replace("from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo",
                        "from sagemaker.workflow.conditions import ConditionLessThan, ConditionOr"),
                replace("""        conditions=[ConditionGreaterThanOrEqualTo(left=metric("accuracy"), right=threshold),
                    ConditionGreaterThanOrEqualTo(left=metric("recall"), right=recall)],
        if_steps=[register], else_steps=[below],""", """        conditions=[ConditionOr(conditions=[ConditionLessThan(left=metric("accuracy"), right=threshold),
                                            ConditionLessThan(left=metric("recall"), right=recall)])],
        if_steps=[below],
        else_steps=[register],""")),
            "answer-read-steps": source('''
summaries = sm.list_pipeline_executions(PipelineName=names()["sagemaker_pipeline"])["PipelineExecutionSummaries"]
execution_arn = max(summaries, key=lambda e: e["StartTime"])["PipelineExecutionArn"]
step_statuses = {}
for step in sm.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn)["PipelineExecutionSteps"]:
    step_statuses[step["StepName"]] = step["StepStatus"]
new_version_arn = versions()[-1]["ModelPackageArn"]
statistics = sm.describe_model_package(ModelPackageName=new_version_arn)["ModelMetrics"]["ModelQuality"]["Statistics"]
accuracy = float(json.loads(S3Downloader.read_file(statistics["S3Uri"], sagemaker_session=session))["metrics"]["accuracy"]["value"])
'''),
            "answer-promote": source('''
from sagemaker.deserializers import CSVDeserializer
from sagemaker.predictor import Predictor
from sagemaker.serializers import CSVSerializer

staging = Predictor(names()["staging"], sagemaker_session=session, serializer=CSVSerializer(),
                    deserializer=CSVDeserializer())
staging_predictions = [int(float(row[0])) for row in staging.predict(sample.values)]
token = action(names()["deploy_pipeline"], "DeployStaging", "ApproveDeployment")["latestExecution"]["token"]
codepipeline.put_approval_result(pipelineName=names()["deploy_pipeline"], stageName="DeployStaging",
                                 actionName="ApproveDeployment", token=token,
                                 result={"summary": "staging is right", "status": "Approved"})
'''),
            "answer-worse": source('''
import numpy as np

data = build_dir / "data" / "churn.csv"
frame = pd.read_csv(data)
frame["churned"] = np.random.default_rng(0).permutation(frame["churned"].values)  # labels no longer match
frame.to_csv(data, index=False)
worse_status = push("Shuffle the labels")
'''),
        },
    ),
    Submission(
        "approves-version-1", FULL - 2 - 2 - 2,
        "approves the seed code's version 1 instead of the version the learner's execution registered: "
        "staging and production serve the wrong version (approval, promotion and the worse-model check "
        "each lose their points)",
        {"answer-approve": replace("ModelPackageArn=new_version_arn", "ModelPackageArn=versions()[0][\"ModelPackageArn\"]")},
    ),
    Submission(
        "raises-the-threshold", FULL - 2,
        "stops the 'worse model' by raising the threshold to 0.99 in the buildspec: the model is no worse, "
        "so the last check fails",
        {"answer-worse": source('''
buildspec = build_dir / "buildspec.yml"
buildspec.write_text(buildspec.read_text().replace('ACCURACY_THRESHOLD: "0.7"', 'ACCURACY_THRESHOLD: "0.99"'))
worse_status = push("A stricter bar")
''')},
    ),
    Submission(
        "registers-without-a-condition", FULL - 3 - 2,
        "registers every model with no condition step: the definition check fails, and the worse model is "
        "registered",
        {"answer-pipeline": replace(
            "    steps = [preprocess, train, evaluate, gate]",
            "    steps = [preprocess, train, evaluate, register]")},
    ),
]
