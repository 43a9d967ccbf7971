// What the accuracy log gets from KServe v2 gRPC responses, the same bytes as the HTTP client's
// `--api kserve` (binary-tensor layout) and as the grpcio path (python/loadgen/net/grpc_v2.py).
#ifndef LOADGEN_NET_GRPC_V2_OUTPUTS_H_
#define LOADGEN_NET_GRPC_V2_OUTPUTS_H_

#include <string>

#include "inference_v2.pb.h"

namespace loadgen::net::grpc_v2 {

/// Appends a unary response's outputs, in response order: raw_output_contents as sent, or the
/// typed contents (KServe's Python server answers with those) as little-endian elements, BYTES
/// elements each after a 4-byte length.
void AppendUnaryOutputs(const inference::ModelInferResponse& response, std::string* out);

/// One response of a decoupled model's stream.
struct StreamPiece {
  bool has_outputs = false;  // a token (the final empty response is not)
  bool final = false;        // Triton's triton_final_response parameter
};

/// Appends what one streamed response adds to the output: the elements of BYTES outputs
/// without their length prefixes (text, like generate_stream's), raw bytes of other types.
StreamPiece AppendStreamPiece(const inference::ModelInferResponse& response, std::string* out);

}  // namespace loadgen::net::grpc_v2

#endif  // LOADGEN_NET_GRPC_V2_OUTPUTS_H_
