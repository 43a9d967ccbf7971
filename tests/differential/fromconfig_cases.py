"""The cases record_fromconfig.py records: config texts, FromConfig calls and attribute presets
(the format is documented in record_fromconfig.py)."""

from __future__ import annotations

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
SHIPPED_MLPERF_CONF = REPO / "python" / "loadgen" / "mlperf.conf"

# Every model named in mlperf.conf, plus names it does not know.
MODELS = [
    "resnet50",
    "ssd-mobilenet",
    "retinanet",
    "bert",
    "dlrm",
    "dlrm-v2",
    "dlrm-v3",
    "rnnt",
    "gptj",
    "mixtral-8x7b",
    "llama2-70b",
    "llama2-70b-interactive",
    "llama3_1-405b",
    "llama3_1-405b-interactive",
    "llama3_1-8b",
    "llama3_1-8b-edge",
    "llama3_1-8b-interactive",
    "stable-diffusion-xl",
    "wan-2.2-t2v-a14b",
    "rgat",
    "pointpainting",
    "deepseek-r1",
    "deepseek-r1-interactive",
    "whisper",
    "qwen3-vl-235b-a22b",
    "yolo",
    "3d-unet",
    "gpt-oss-120b",
    "gpt-oss-120b-interactive",
]
UNKNOWN_MODELS = ["my-model", "resnet", "*"]
SCENARIOS = ["SingleStream", "MultiStream", "Server", "Offline", "Interactive"]


def call(path, model, scenario, conf_type=1, obj=0):
    return {
        "path": path,
        "model": model,
        "scenario": scenario,
        "conf_type": conf_type,
        "object": obj,
    }


def user_case(name, text, model="resnet50", scenario="Offline", conf_type=1, preset=None):
    case = {
        "name": name,
        "files": {"user.conf": text},
        "calls": [call("user.conf", model, scenario, conf_type)],
    }
    if preset:
        case["preset"] = preset
    return case


EVERY_KEY = """\
*.*.mode = 1
*.*.qsl_rng_seed = 11
*.*.sample_index_rng_seed = 12
*.*.schedule_rng_seed = 13
*.*.accuracy_log_probability = 50
*.*.test05 = 1
*.*.test05_qsl_rng_seed = 14
*.*.test05_sample_index_rng_seed = 15
*.*.test05_schedule_rng_seed = 16
*.*.use_token_latencies = 1
*.*.ttft_latency = 21
*.*.tpot_latency = 22
*.*.infer_token_latencies = 1
*.*.token_latency_scaling_factor = 23
*.*.target_latency_percentile = 97
*.*.samples_per_query = 4
*.*.target_latency = 7
*.*.performance_issue_unique = 1
*.*.performance_issue_same = 1
*.*.performance_issue_same_index = 3
*.*.sample_concatenate_permutation = 1
*.*.coalesce_queries = 1
*.*.max_async_queries = 9
*.*.min_duration = 1234
*.*.max_duration = 5678
*.*.min_query_count = 31
*.*.max_query_count = 32
*.*.performance_sample_count_override = 33
*.*.accuracy_sample_count_override = 34
*.*.target_qps = 35.5
*.*.print_timestamps = 1
*.*.accuracy_log_rng_seed = 36
*.*.accuracy_log_sampling_target = 37
*.*.server_find_peak_qps_decimals_of_precision = 3
*.*.num_issue_query_threads = 2
"""

PER_SCENARIO_KEYS = """\
*.SingleStream.target_latency_percentile = 95
*.MultiStream.target_latency_percentile = 99.9
*.Server.target_latency_percentile = 99.99
*.SingleStream.target_latency = 0.25
*.MultiStream.target_latency = 2.5
*.Server.target_latency = 2.5
*.Server.target_qps = 123.25
*.Offline.target_qps = 4567.125
*.MultiStream.samples_per_query = 16
*.Server.coalesce_queries = 2
*.Server.max_async_queries = 3
*.Offline.min_query_count = 77
*.SingleStream.min_query_count = 78
"""

PRECEDENCE_ALL = """\
*.*.min_query_count = 4
resnet50.*.min_query_count = 3
*.Offline.min_query_count = 2
resnet50.Offline.min_query_count = 1
"""


def build_cases():
    cases = []
    empty = ""
    # Every model x every scenario with an empty user.conf: the rules file alone.
    for model in MODELS + UNKNOWN_MODELS:
        for scenario in SCENARIOS:
            cases.append(user_case(f"rules/{model}/{scenario}", empty, model, scenario))

    # Lookup precedence: remove the most specific form one at a time.
    lines = PRECEDENCE_ALL.splitlines(keepends=True)
    for drop in range(4):
        text = "".join(lines[: len(lines) - drop])
        cases.append(user_case(f"precedence/{4 - drop}_forms", text))
    cases.append(
        user_case(
            "precedence/model_wildcard_vs_scenario_wildcard",
            "resnet50.*.min_duration = 5\n*.Offline.min_duration = 6\n",
        )
    )
    cases.append(
        user_case(
            "precedence/other_model_ignored",
            "bert.Offline.min_query_count = 9\nbert.*.min_duration = 9\n",
        )
    )
    cases.append(
        user_case(
            "precedence/other_scenario_ignored",
            "*.Server.min_query_count = 9\nresnet50.SingleStream.min_duration = 9\n",
        )
    )
    cases.append(
        user_case(
            "precedence/duplicate_key_last_wins",
            "*.*.min_query_count = 5\n*.*.min_query_count = 6\n",
        )
    )

    # Every key, wildcarded, in each scenario and in each conf_type.
    for scenario in SCENARIOS:
        cases.append(user_case(f"every_key/{scenario}", EVERY_KEY, "my-model", scenario))
    for conf_type in (0, 2, 3, -1):
        cases.append(
            user_case(
                f"every_key/conf_type_{conf_type}", EVERY_KEY, "my-model", "Server", conf_type
            )
        )
    for scenario in ("SingleStream", "Offline", "Interactive"):
        cases.append(
            user_case(f"fixed_scenario_keys/{scenario}", PER_SCENARIO_KEYS, "my-model", scenario)
        )

    # Percent keys (×0.01, not /100).
    for value in ("95", "99.9", "90", "50", "99.99", "0.5", "100", "1e2", "0x5f"):
        cases.append(
            user_case(
                f"percent/{value}",
                f"*.*.target_latency_percentile = {value}\n",
                "my-model",
                "SingleStream",
            )
        )

    # Integer conversions: base 0, truncation before scaling, wrap-around.
    for value in (
        "010",
        "0x10",
        "09",
        "1e3",
        "1.5",
        "-5",
        "nan",
        "inf",
        "+7",
        "0X1F",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999",
        "0x1p4",
        "-0",
        " 00",
    ):
        text = (
            f"*.*.min_query_count = {value}\n*.Server.target_latency = {value}\n"
            f"*.*.performance_issue_same_index = {value}\n"
        )
        cases.append(user_case(f"integer/{value.strip()}", text, "my-model", "Server"))
    # Double conversions.
    for value in (
        "0x10",
        "010",
        "1.5e3",
        "-5",
        "inf",
        "-inf",
        "nan",
        "1e-320",
        ".5",
        "5.",
        "0x1.8p1",
        "1e400",
        "INF",
        "NaN",
        "infinity",
    ):
        text = (
            f"*.Server.target_qps = {value}\n*.Offline.target_qps = {value}\n"
            f"*.SingleStream.target_latency = {value}\n"
        )
        cases.append(user_case(f"double/{value}", text, "my-model", "Server"))
    for value in ("1.5", "2.5", "0.5", "0.999"):
        cases.append(
            user_case(
                f"ms_truncation/{value}",
                f"*.Server.target_latency = {value}\n*.MultiStream.target_latency = {value}\n",
                "my-model",
                "Server",
            )
        )

    # max_async_queries goes through a 32-bit int.
    for value in ("5", "2147483647", "2147483648", "4294967295", "4294967296", "-1"):
        cases.append(
            user_case(
                f"max_async/{value}",
                f"*.Server.max_async_queries = {value}\n",
                "my-model",
                "Offline",
            )
        )

    # Flags: ==1 versus !=0.
    for value in ("0", "1", "2", "0x1", "1.9", "-1"):
        text = "".join(
            f"*.*.{key} = {value}\n"
            for key in (
                "use_token_latencies",
                "infer_token_latencies",
                "sample_concatenate_permutation",
                "performance_issue_unique",
                "performance_issue_same",
                "print_timestamps",
            )
        )
        text += f"*.Server.coalesce_queries = {value}\n"
        cases.append(user_case(f"flags/{value}", text, "my-model", "Server"))

    # Mode values.
    for value in ("0", "1", "2", "3", "4", "7", "3.9", "-1", "0x2"):
        cases.append(
            user_case(
                f"mode/{value}",
                f"*.*.mode = {value}\n",
                "my-model",
                "SingleStream",
                preset={"mode": "AccuracyOnly"},
            )
        )
    cases.append(user_case("mode/invalid_twice_one_message", "*.*.mode = 9\nresnet50.*.mode = 8\n"))

    # Token keys depend on the flag value accumulated so far.
    cases.append(
        user_case(
            "tokens/ttft_without_flag",
            "*.Server.ttft_latency = 5\n*.Server.tpot_latency = 6\n",
            "my-model",
            "Server",
        )
    )
    cases.append(
        user_case(
            "tokens/ttft_with_flag_in_file",
            "*.*.use_token_latencies = 1\n*.Server.ttft_latency = 5\n*.Server.tpot_latency = 6\n",
            "my-model",
            "Offline",
        )
    )
    cases.append(
        user_case(
            "tokens/ttft_with_flag_preset",
            "*.Server.ttft_latency = 5\n*.Server.tpot_latency = 6\n",
            "my-model",
            "Offline",
            preset={"use_token_latencies": True},
        )
    )
    cases.append(
        user_case(
            "tokens/ttft_flag_from_rules",
            "llama2-70b.Server.ttft_latency = 1000\n",
            "llama2-70b",
            "Server",
        )
    )
    cases.append(
        user_case(
            "tokens/flag_cleared_in_file",
            "llama2-70b.*.use_token_latencies = 0\nllama2-70b.Server.ttft_latency = 1000\n",
            "llama2-70b",
            "Server",
            preset={"server_target_latency_ns": 5},
        )
    )
    cases.append(
        user_case(
            "tokens/flag_two",
            "*.*.use_token_latencies = 2\n*.Server.ttft_latency = 5\n",
            "my-model",
            "Server",
            preset={"use_token_latencies": True},
        )
    )
    cases.append(
        user_case(
            "tokens/ttft_in_scenario_offline_ignored",
            "*.*.use_token_latencies = 1\n*.Offline.ttft_latency = 5\n",
            "my-model",
            "Offline",
        )
    )
    cases.append(
        user_case(
            "tokens/scaling_without_infer",
            "*.*.token_latency_scaling_factor = 5\n",
            "my-model",
            "Server",
        )
    )
    cases.append(
        user_case(
            "tokens/scaling_with_infer",
            "*.*.infer_token_latencies = 1\n*.*.token_latency_scaling_factor = 5\n",
            "my-model",
            "Server",
        )
    )
    cases.append(
        user_case(
            "tokens/gptj_user_scaling",
            "gptj.*.token_latency_scaling_factor = 7\n",
            "gptj",
            "Offline",
        )
    )

    # Reserved keys in a user file, and the fields they would set.
    cases.append(
        user_case(
            "reserved/seeds_in_user_conf",
            "*.*.qsl_rng_seed = 1\n*.*.sample_index_rng_seed = 2\n"
            "*.*.schedule_rng_seed = 3\n*.*.accuracy_log_probability = 50\n"
            "*.*.test05 = 1\n*.*.test05_qsl_rng_seed = 4\n",
        )
    )

    # Grammar.
    grammar = {
        "no_spaces": "*.*.min_query_count=5\n",
        "space_before_only": "*.*.min_query_count =5\n",
        "space_after_only": "*.*.min_query_count= 5\n",
        "trailing_comment": "*.*.min_query_count = 5 # five\n",
        "trailing_glued_comment": "*.*.min_query_count = 5 #five\n",
        "comment_without_space": "#this is a comment\n*.*.min_query_count = 5\n",
        "comment_word_alone": "#comment\n*.*.min_query_count = 5\n",
        "comment_after_key": "*.*.min_query_count # = 5\n",
        "hash_after_equals": "*.*.min_query_count = # 5\n",
        "two_values": "*.*.min_query_count = 5 6\n",
        "three_values": "*.*.min_query_count = 5 6 0x7\n",
        "bad_value": "*.*.min_query_count = five\n",
        "bad_after_good_value": "*.*.min_query_count = 5 five\n",
        "key_only": "*.*.min_query_count\n",
        "key_equals_only": "*.*.min_query_count =\n",
        "blank_and_indented": "\n   \n\t*.*.min_query_count\t=\t5\n  # c\n",
        "crlf": "*.*.min_query_count = 5\r\n*.*.min_duration = 6\r\n",
        "no_final_newline": "*.*.min_query_count = 5",
        "vertical_tab_formfeed": "*.*.min_query_count\v=\f5\n",
        "errors_on_several_lines": (
            "*.*.min_query_count = 5\nbad line here\n"
            "*.*.min_duration = x\n*.*.max_duration = 7 # c\n"
            "*.*.max_query_count = 8\n"
        ),
        "two_part_key": "min_query_count = 5\nOffline.min_duration = 6\n",
        "unknown_keys": "*.*.target_duration = 5\n*.Offline.target_latency_percentile = 50\n"
        "*.*.min_querycount = 5\n*.Sever.min_duration = 5\n",
        "equals_as_key": "= = 5\n",
        "empty_file_like": "# only comments\n#\n",
        "dotted_model": "wan-2.2-t2v-a14b.Offline.min_query_count = 12\n",
        "lowercase_scenario": "*.offline.min_query_count = 12\n",
    }
    for name, text in grammar.items():
        cases.append(user_case(f"grammar/{name}", text))
    cases.append(user_case("grammar/dotted_model_rules", "", "wan-2.2-t2v-a14b", "Offline"))

    # Call patterns and the process-wide conf_type-1 counter.
    ok = "*.*.min_query_count = 5\n"
    second = "*.*.max_query_count = 6\n*.*.min_query_count = 7\n"
    bad = "*.*.min_query_count = 5\nthis is bad\n"
    audit = (
        "*.*.mode = 2\n*.*.accuracy_log_rng_seed = 720381539243781796\n"
        "*.*.accuracy_log_sampling_target = 4096\nresnet50.Offline.min_query_count = 500\n"
        "*.*.qsl_rng_seed = 1\n"
    )
    rules_text = SHIPPED_MLPERF_CONF.read_text(encoding="utf-8")

    def pattern(name, files, calls, objects=1, preset=None):
        case = {"name": f"pattern/{name}", "files": files, "calls": calls}
        if objects != 1:
            case["objects"] = objects
        if preset:
            case["preset"] = preset
        cases.append(case)

    m, s = "resnet50", "Offline"
    pattern(
        "user_twice",
        {"user.conf": ok, "second.conf": second},
        [call("user.conf", m, s), call("second.conf", m, s)],
    )
    pattern(
        "user_twice_other_object",
        {"user.conf": ok, "second.conf": second},
        [call("user.conf", m, s), call("second.conf", m, s, obj=1)],
        objects=2,
    )
    pattern("rules_then_user", {"user.conf": ok}, [call("", m, s, 0), call("user.conf", m, s)])
    pattern("rules_explicit_twice", {}, [call("ignored.conf", m, s, 0), call("", "bert", s, 0)])
    pattern(
        "rules_file_as_user_then_user",
        {"mlperf.conf": rules_text, "user.conf": ok},
        [call("mlperf.conf", m, s), call("user.conf", m, s)],
    )
    pattern(
        "rules_file_type2_then_user",
        {"mlperf.conf": rules_text, "user.conf": ok},
        [
            call("mlperf.conf", "gpt-oss-120b", "Server", 2),
            call("user.conf", "gpt-oss-120b", "Server"),
        ],
    )
    pattern(
        "user_then_audit",
        {"user.conf": ok, "audit.config": audit},
        [call("user.conf", m, s), call("audit.config", "*", s, 2)],
    )
    pattern("missing_user", {}, [call("missing.conf", m, s)])
    pattern(
        "missing_then_user",
        {"user.conf": ok},
        [call("missing.conf", m, s), call("user.conf", m, s)],
    )
    pattern("missing_type2", {}, [call("missing.conf", m, s, 2)])
    pattern(
        "bad_then_user",
        {"bad.conf": bad, "user.conf": ok},
        [call("bad.conf", m, s), call("user.conf", m, s)],
    )
    pattern(
        "user_then_bad",
        {"bad.conf": bad, "user.conf": ok},
        [call("user.conf", m, s), call("bad.conf", m, s)],
    )
    pattern(
        "type2_then_user",
        {"user.conf": ok, "second.conf": second},
        [call("second.conf", m, s, 2), call("user.conf", m, s)],
    )
    pattern(
        "three_user_calls",
        {"user.conf": ok},
        [
            call("user.conf", m, s),
            call("user.conf", m, "Server"),
            call("user.conf", "bert", "Server"),
        ],
    )
    pattern(
        "probe_config_errors",
        {
            "ok_user.conf": "*.SingleStream.min_duration = 200\n"
            "*.SingleStream.target_latency = 1\n"
            "*.*.mode = 7\n",
            "bad_user.conf": "resnet50.SingleStream.target_latency = 1\nthis is bad\n",
        },
        [
            call("ok_user.conf", m, "SingleStream"),
            call("bad_user.conf", m, "SingleStream"),
            call("missing.conf", m, "SingleStream"),
        ],
    )
    pattern(
        "preset_then_user",
        {"user.conf": ok},
        [call("user.conf", "llama2-70b", "Server")],
        preset={
            "min_query_count": 999,
            "server_target_qps": 42.5,
            "ttft_latency": 7,
            "scenario": "Server",
            "server_find_peak_qps_boundary_step_size": 0.5,
        },
    )
    return cases
