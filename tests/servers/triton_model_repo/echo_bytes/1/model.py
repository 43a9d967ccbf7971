"""Echo: each request's TEXT_IN strings come back as TEXT_OUT."""

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [
            pb_utils.InferenceResponse(
                output_tensors=[
                    pb_utils.Tensor(
                        "TEXT_OUT", pb_utils.get_input_tensor_by_name(r, "TEXT_IN").as_numpy()
                    )
                ]
            )
            for r in requests
        ]
