#include "load/async_status.hpp"

#include <simdjson.h>

namespace pollster::cli::load {

async_status read_async_status(std::string& result_json) {
  thread_local simdjson::ondemand::parser parser;
  async_status s;
  simdjson::ondemand::document doc;
  // simdjson reads SIMDJSON_PADDING bytes past the end: make them ours.
  result_json.reserve(result_json.size() + simdjson::SIMDJSON_PADDING);
  const simdjson::padded_string_view padded(result_json.data(), result_json.size(), result_json.capacity());
  if (parser.iterate(padded).get(doc)) return s;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return s;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return {};
    if (key == "status") {
      std::string_view status;
      if (!field.value().get_string().get(status)) s.complete = status == "complete";
    } else if (key == "error") {
      s.task_error = true;
    }
  }
  return s;
}

}  // namespace pollster::cli::load
