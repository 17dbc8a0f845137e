"""Prints template.yaml after the SAM transform, as CloudFormation will deploy it.

Usage: python3 infra/sam/transform.py [template.yaml] [Name=Value ...]

Uses aws-sam-translator (installed with cfn-lint). No AWS call is made: the template names
no managed policy, so the policy loader is never asked.
"""
import json
import os
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    params = dict(a.split("=", 1) for a in sys.argv[2:])
    with open(path) as f:
        template = yaml_parse(f.read())
    # sam package would upload each CodeUri folder; the transform wants S3 locations.
    for r in template.get("Resources", {}).values():
        props = r.get("Properties") or {}
        if r.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://bucket/code.zip"
    for name, p in template.get("Parameters", {}).items():
        if name not in params and "Default" in p:
            params[name] = p["Default"]
    params.setdefault("AWS::Region", "us-east-1")
    params.setdefault("AWS::Partition", "aws")
    params.setdefault("AWS::AccountId", "123456789012")
    params.setdefault("AWS::StackName", "tokengate")
    params.setdefault("AWS::URLSuffix", "amazonaws.com")
    out = Translator(NoManagedPolicies(), Parser()).translate(template, params)
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
