"""The topic list has one source, schemas/topics: the dev broker creates
exactly those topics, and k8s/kafka-topics.yaml is generated from it
(`hl7flow topics --k8s`) and must be in step with it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, REPO, check, check_eq, run_suite  # noqa: E402


def listed():
    out = []
    for line in open(os.path.join(REPO, "schemas", "topics")):
        line = line.split("#", 1)[0].split()
        if line:
            out.append((line[0], int(line[1]), dict(kv.split("=", 1) for kv in line[2:])))
    return out


def test_k8s_topics_are_generated_from_the_list(env):
    r = env.run([os.path.join(BIN, "hl7flow"), "topics", "--k8s"])
    committed = open(os.path.join(REPO, "k8s", "kafka-topics.yaml")).read()
    check_eq(r.stdout.decode(), committed,
             "k8s/kafka-topics.yaml is stale: regenerate with `bin/hl7flow topics --k8s`")
    docs = [d for d in committed.split("\n---\n")[1:]]
    check_eq(len(docs), len(listed()), "one KafkaTopic per listed topic")
    for (name, parts, cfg), doc in zip(listed(), docs):
        check(f"  topicName: {name}\n" in doc, f"{name} named")
        check(f"  partitions: {parts}\n" in doc, f"{name} partitions")
        for k, v in cfg.items():
            check(f'    {k}: "{v}"\n' in doc, f"{name} config {k}")


def test_dev_broker_creates_every_listed_topic(env):
    offs = env.offsets([t[0] for t in listed()])
    for name, parts, _ in listed():
        check_eq(offs[name]["partitions"], parts, f"{name} partitions on the dev broker")


def test_co_partitioned_topics_share_a_partition_count(env):
    counts = {n: p for n, p, _ in listed()}
    group = [t for t in counts if t.startswith("hl7.parsed.")] + ["hl7.linked"]
    group += [t for t in counts if t.endswith("-changelog")]
    check_eq(len({counts[t] for t in group}), 1, f"partition counts of {group}")


if __name__ == "__main__":
    run_suite("topic_list", [
        test_k8s_topics_are_generated_from_the_list,
        test_dev_broker_creates_every_listed_topic,
        test_co_partitioned_topics_share_a_partition_count,
    ])
