"""Streams max_tokens responses "tok0 ", "tok1 ", ... then marks the request complete."""

import time

import numpy as np
import triton_python_backend_utils as pb_utils


def _scalar(request, name, default):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0]


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            delay_s = float(_scalar(request, "delay_ms", 0.0)) / 1000.0
            for i in range(int(_scalar(request, "max_tokens", 0))):
                if delay_s:
                    time.sleep(delay_s)
                text = pb_utils.Tensor(
                    "text_output", np.array([f"tok{i} ".encode()], dtype=np.object_)
                )
                sender.send(pb_utils.InferenceResponse(output_tensors=[text]))
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None
