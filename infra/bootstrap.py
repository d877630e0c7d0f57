"""Create Rota's AWS resources in the local stack (moto) from template.yaml.

template.yaml is the one definition of the tables, bucket and queues: this script reads their
properties from it rather than repeating them. Idempotent: existing resources are left alone.
"""

import json
import os
import sys
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent


class TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub ...) as {tag: value}."""


def _tag(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {tag_suffix: value}


TemplateLoader.add_multi_constructor("!", _tag)


def resources(template, kind):
    return {name: r.get("Properties", {}) for name, r in template["Resources"].items() if r["Type"] == kind}


def create_table(ddb, name, props):
    try:
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
            BillingMode=props["BillingMode"],
        )
    except ddb.exceptions.ResourceInUseException:
        return
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def lifecycle_filter(rule):
    """A rule's filter as S3's API takes it: by prefix, by one tag, or both."""
    tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in rule.get("TagFilters", [])]
    prefix = rule.get("Prefix", "")
    if not tags:
        return {"Prefix": prefix}
    if len(tags) == 1 and not prefix:
        return {"Tag": tags[0]}
    return {"And": {"Prefix": prefix, "Tags": tags}}


def create_bucket(s3, name, props):
    try:
        s3.create_bucket(Bucket=name)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": rule["Id"],
                    "Filter": lifecycle_filter(rule),
                    "Status": rule["Status"],
                    "Expiration": {"Days": rule["ExpirationInDays"]},
                }
                for rule in rules
            ]
        },
    )


def create_queues(sqs, queues):
    """Dead-letter queues first, so the others can point their redrive policy at them."""
    arns = {}
    for name, props in sorted(queues.items(), key=lambda q: "RedrivePolicy" in q[1]):
        attributes = {k: str(v) for k, v in props.items() if k in ("VisibilityTimeout", "MessageRetentionPeriod")}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["GetAtt"].split(".")[0]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[target], "maxReceiveCount": str(redrive["maxReceiveCount"])}
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def main():
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=TemplateLoader)
    session = boto3.session.Session()
    client = lambda service: session.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"])

    # Each table under the name its setting gives the functions.
    tables = resources(template, "AWS::DynamoDB::Table")
    settings = {"Table": "ROTA_TABLE", "SecretsTable": "ROTA_SECRETS_TABLE"}
    assert set(tables) == set(settings), f"template.yaml's tables {sorted(tables)} have no setting here"
    for name, props in tables.items():
        create_table(client("dynamodb"), os.environ[settings[name]], props)
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    create_bucket(client("s3"), os.environ["ROTA_BUCKET"], bucket)
    create_queues(client("sqs"), resources(template, "AWS::SQS::Queue"))
    client("ses").verify_email_identity(EmailAddress=os.environ["ROTA_MAIL_FROM"])
    print(f"local stack ready at {os.environ['AWS_ENDPOINT_URL']}", file=sys.stderr)


if __name__ == "__main__":
    main()
