#!/usr/bin/env python3
"""Renders a lookup-events answer through the AWS CLI's own formatter (awscli.formatter).

Reads trailscan's JSON answer (--output json, no --query) on stdin and writes what
`aws cloudtrail lookup-events` would print for those events with the given --output and
--query. With --pages N the events are served in pages of N through botocore's real
PageIterator, as the AWS CLI's auto-pagination fetches them (text output applies --query
per page); trailscan's NextToken stands in for botocore's resume token so that the two
outputs can be compared byte for byte. Without --pages the answer is one response, as with
--max-results or --no-paginate.
"""
import argparse
import io
import json
import sys

import jmespath
from awscli.formatter import get_formatter
from botocore.paginate import PageIterator


class Pages(PageIterator):
    def __init__(self, events, page_size, token):
        def method(**kwargs):
            start = int(kwargs.get("NextToken") or 0)
            size = int(kwargs.get("MaxResults") or 50)
            response = {"Events": events[start:start + size]}
            if start + size < len(events):
                response["NextToken"] = str(start + size)
            return response

        super().__init__(
            method,
            ["NextToken"],
            [jmespath.compile("NextToken")],
            None,
            [jmespath.compile("Events")],
            [],
            "MaxResults",
            None,
            None,
            page_size,
            {},
        )
        self._trailscan_token = token

    @property
    def resume_token(self):
        return self._trailscan_token

    @resume_token.setter
    def resume_token(self, value):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("--query")
    parser.add_argument("--pages", type=int)
    opts = parser.parse_args()
    answer = json.load(sys.stdin)
    if opts.pages:
        response = Pages(answer["Events"], opts.pages, answer.get("NextToken"))
    else:
        response = answer
    args = argparse.Namespace(query=jmespath.compile(opts.query) if opts.query else None, color="auto")
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    get_formatter(opts.output, args)("LookupEvents", response, stream)
    stream.flush()


if __name__ == "__main__":
    main()
