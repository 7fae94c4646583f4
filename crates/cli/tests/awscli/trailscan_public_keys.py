"""AWS CLI plugin for trailscan's differential tests: answers CloudTrail ListPublicKeys from
the file named by $TRAILSCAN_PUBLIC_KEYS (the output of `aws cloudtrail list-public-keys`),
so that the AWS CLI's own validate-logs can run offline. Nothing else is touched."""
import json
import os
from types import SimpleNamespace


def _list_public_keys(params, **kwargs):
    with open(os.environ["TRAILSCAN_PUBLIC_KEYS"]) as f:
        keys = json.load(f)["PublicKeyList"]
    return (SimpleNamespace(status_code=200, headers={}), {"PublicKeyList": keys})


def awscli_initialize(cli):
    cli.register("before-call.cloudtrail.ListPublicKeys", _list_public_keys)
