#include "net/grpc/v2_outputs.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "net/v2_layout.h"

namespace loadgen::net::grpc_v2 {

namespace {

// Each value converted to T, the element type of the datatype.
template <typename T, typename Repeated>
void AppendAs(const Repeated& values, std::string* out) {
  for (const auto& v : values) AppendV2Element(static_cast<T>(v), out);
}

void AppendTyped(const inference::ModelInferResponse::InferOutputTensor& output, std::string* out) {
  const inference::InferTensorContents& c = output.contents();
  const std::string& type = output.datatype();
  if (type == "BYTES") {
    for (const std::string& e : c.bytes_contents()) AppendV2BytesElement(e, out);
  } else if (type == "BOOL") {
    AppendAs<uint8_t>(c.bool_contents(), out);
  } else if (type == "INT8") {
    AppendAs<int8_t>(c.int_contents(), out);
  } else if (type == "INT16") {
    AppendAs<int16_t>(c.int_contents(), out);
  } else if (type == "INT32") {
    AppendAs<int32_t>(c.int_contents(), out);
  } else if (type == "INT64") {
    AppendAs<int64_t>(c.int64_contents(), out);
  } else if (type == "UINT8") {
    AppendAs<uint8_t>(c.uint_contents(), out);
  } else if (type == "UINT16") {
    AppendAs<uint16_t>(c.uint_contents(), out);
  } else if (type == "UINT32") {
    AppendAs<uint32_t>(c.uint_contents(), out);
  } else if (type == "UINT64") {
    AppendAs<uint64_t>(c.uint64_contents(), out);
  } else if (type == "FP32") {
    AppendAs<float>(c.fp32_contents(), out);
  } else if (type == "FP64") {
    AppendAs<double>(c.fp64_contents(), out);
  }
  // FP16 / BF16 have no typed field: they come only as raw contents.
}

}  // namespace

void AppendUnaryOutputs(const inference::ModelInferResponse& response, std::string* out) {
  if (response.raw_output_contents_size() > 0) {
    for (const std::string& raw : response.raw_output_contents()) out->append(raw);
    return;
  }
  for (const auto& output : response.outputs()) AppendTyped(output, out);
}

StreamPiece AppendStreamPiece(const inference::ModelInferResponse& response, std::string* out) {
  StreamPiece piece;
  const auto& parameters = response.parameters();
  if (auto it = parameters.find("triton_final_response"); it != parameters.end()) {
    piece.final = it->second.bool_param();
  }
  piece.has_outputs = response.outputs_size() > 0;
  const auto& raw = response.raw_output_contents();
  for (int i = 0; i < response.outputs_size(); ++i) {
    const auto& output = response.outputs(i);
    if (i >= raw.size()) {
      if (output.datatype() == "BYTES") {
        for (const std::string& e : output.contents().bytes_contents()) out->append(e);
      }
      continue;
    }
    const std::string& data = raw.Get(i);
    if (output.datatype() != "BYTES") {
      out->append(data);
      continue;
    }
    size_t at = 0;  // elements: a 4-byte little-endian length, then the bytes
    while (at + 4 <= data.size()) {
      uint32_t n = 0;
      std::memcpy(&n, data.data() + at, 4);
      const size_t take = std::min<size_t>(n, data.size() - at - 4);
      out->append(data, at + 4, take);
      at += 4 + take;
    }
  }
  return piece;
}

}  // namespace loadgen::net::grpc_v2
