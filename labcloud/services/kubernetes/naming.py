"""ACK's field names: a botocore member name in lowerCamelCase, with Go's initialisms in capitals.

    RoleArn -> roleARN    S3Uri -> s3URI    KmsKeyId -> kmsKeyID    SecurityGroupIds -> securityGroupIDs
    ModelDataUrl -> modelDataURL    VolumeSizeInGB -> volumeSizeInGB    VpcConfig -> vpcConfig

The words of a member are its CamelCase runs; a word that is an initialism is written in capitals, except
as the first word, which is all lower case. `botocore_name` maps an ACK name back through the shape that
holds it (the shape's own member names, so no reverse rule is needed). A member named like a Go
keyword (Type) gets a trailing underscore (type_), as the controller's generated Go types do.
"""

from __future__ import annotations

import re

# Words written in capitals (a plural keeps its lower-case "s": IDs, ARNs, URIs).
INITIALISMS = {"Arn": "ARN", "Id": "ID", "Uri": "URI", "Url": "URL", "Kms": "KMS", "Vpc": "VPC", "Dns": "DNS",
               "Ip": "IP", "Ssl": "SSL", "Tls": "TLS", "Ttl": "TTL", "Http": "HTTP", "Https": "HTTPS",
               "Json": "JSON", "Sql": "SQL", "Api": "API", "Cpu": "CPU", "Gpu": "GPU", "Iam": "IAM",
               "Sns": "SNS", "Sqs": "SQS", "Ecr": "ECR", "Uid": "UID", "Uuid": "UUID", "Ebs": "EBS", "Ami": "AMI"}
RESERVED = {"type": "type_"}  # Go keywords: the generated Go field, and so the CRD field, gets a "_"
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|$)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    return _WORDS.findall(name)


def ack_name(member: str) -> str:
    """The ACK field name of a botocore member name."""
    parts = words(member)
    if not parts:
        return member
    out = []
    for i, word in enumerate(parts):
        plural = word.endswith("s") and word[:-1] in INITIALISMS
        base = word[:-1] if plural else word
        if i == 0:
            out.append(word.lower())
        elif base in INITIALISMS:
            out.append(INITIALISMS[base] + ("s" if plural else ""))
        else:
            out.append(word)
    name = "".join(out)
    return RESERVED.get(name, name)
