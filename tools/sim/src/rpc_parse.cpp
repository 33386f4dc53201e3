// The only simulator translation unit that includes simdjson (compiled with
// the SIMD flags, see pollster_simd_tu in tools/sim/CMakeLists.txt).
#include "rpc.hpp"

#include <simdjson.h>

#include <charconv>

namespace pollster::sim::detail {

static_assert(simdjson::SIMDJSON_PADDING <= json_padding, "request buffers keep json_padding spare bytes");

namespace od = simdjson::ondemand;

struct request_parser::impl {
  od::parser parser;
  rpc_call call;
};

request_parser::request_parser() : impl_(std::make_unique<impl>()) {}
request_parser::~request_parser() = default;

namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Reads an integer member: a JSON integer, or a string holding one (real
// clusters accept "asyncHandle": "999999999", element-api.md). Anything else
// (float, bool, other strings, out of range) is bad.
void read_int(od::value v, param& st, std::int64_t& out) {
  od::json_type t;
  if (v.type().get(t)) {
    st = param::bad;
    return;
  }
  std::int64_t x = 0;
  if (t == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s) || s.empty()) {
      st = param::bad;
      return;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc{} || p != s.data() + s.size()) {
      st = param::bad;
      return;
    }
  } else if (t != od::json_type::number || v.get_int64().get(x)) {
    st = param::bad;
    return;
  }
  out = x;
  st = param::ok;
}

void read_string(od::value v, param& st, std::string_view& out) {
  st = v.get_string().get(out) ? param::bad : param::ok;
}

// An integer member: read, and the first mistyped one named.
void int_param(od::value v, rpc_call& c, std::string_view name, param& st, std::int64_t& out) {
  read_int(v, st, out);
  if (st == param::bad && c.first_bad_param.empty()) c.first_bad_param = name;
}

// Returns false when the document turned out malformed (not merely mistyped).
bool read_params(od::object params, rpc_call& c) {
  for (auto field_result : params) {
    od::field field;
    if (std::move(field_result).get(field)) return false;
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value v = field.value();
    if (key == "asyncHandle") {
      int_param(v, c, "asyncHandle", c.async_handle_st, c.async_handle);
    } else if (key == "keepResult") {
      bool b = false;
      if (v.get_bool().get(b)) {
        c.keep_result_st = param::bad;
        if (c.first_bad_param.empty()) c.first_bad_param = "keepResult";
      } else {
        c.keep_result_st = param::ok;
        c.keep_result = b;
      }
    } else if (key == "asyncResultTypes") {
      od::json_type t;
      if (v.type().get(t)) return false;
      if (t == od::json_type::null) continue;
      od::array arr;
      c.result_types_st = param::ok;
      c.result_types = 0;
      if (v.get_array().get(arr)) {
        c.result_types_st = param::bad;
      } else {
        for (auto el : arr) {
          od::value ev;
          if (std::move(el).get(ev)) return false;
          std::string_view s;
          std::uint8_t bit = 0;
          if (ev.get_string().get(s) || (bit = result_type_bit(s)) == 0) {
            c.result_types_st = param::bad;
          } else {
            c.result_types |= bit;
          }
        }
      }
      if (c.result_types_st == param::bad && c.first_bad_param.empty()) c.first_bad_param = "asyncResultTypes";
    } else if (key == "volumeID") {
      int_param(v, c, "volumeID", c.volume_id_st, c.volume_id);
    } else if (key == "dstVolumeID") {
      int_param(v, c, "dstVolumeID", c.dst_volume_id_st, c.dst_volume_id);
    } else if (key == "accountID") {
      int_param(v, c, "accountID", c.account_id_st, c.account_id);
    } else if (key == "newAccountID") {
      int_param(v, c, "newAccountID", c.new_account_id_st, c.new_account_id);
    } else if (key == "startVolumeID") {
      int_param(v, c, "startVolumeID", c.start_volume_id_st, c.start_volume_id);
    } else if (key == "limit") {
      int_param(v, c, "limit", c.limit_st, c.limit);
    } else if (key == "name") {
      read_string(v, c.name_st, c.name);
      if (c.name_st == param::bad && c.first_bad_param.empty()) c.first_bad_param = "name";
    } else if (key == "format") {
      std::string_view ignored;
      read_string(v, c.format_st, ignored);
      if (c.format_st == param::bad && c.first_bad_param.empty()) c.first_bad_param = "format";
    } else if (key == "volumes" || key == "volumeIDs") {
      // CloneMultipleVolumes: [{"volumeID": N, ...}, ...] (plain integers accepted too).
      od::array arr;
      c.volumes_st = param::ok;
      c.volumes.clear();
      if (v.get_array().get(arr)) {
        c.volumes_st = param::bad;
      } else {
        for (auto el : arr) {
          od::value ev;
          if (std::move(el).get(ev)) return false;
          od::json_type t;
          if (ev.type().get(t)) return false;
          param st = param::absent;
          std::int64_t id = 0;
          if (t == od::json_type::object) {
            od::object o;
            if (ev.get_object().get(o)) return false;
            for (auto f2r : o) {
              od::field f2;
              if (std::move(f2r).get(f2)) return false;
              std::string_view k2;
              if (f2.unescaped_key().get(k2)) return false;
              if (k2 == "volumeID") read_int(f2.value(), st, id);
            }
          } else {
            read_int(ev, st, id);
          }
          if (st != param::ok) {
            c.volumes_st = param::bad;
          } else {
            c.volumes.push_back(id);
          }
        }
      }
      if (c.volumes_st == param::bad && c.first_bad_param.empty()) c.first_bad_param = "volumes";
    } else if (key == "drives") {
      // AddDrives: [{"driveID": N, "type": ...}], RemoveDrives: [N, ...]; both accepted.
      od::array arr;
      c.drives_st = param::ok;
      c.drive_count = 0;
      if (v.get_array().get(arr)) {
        c.drives_st = param::bad;
      } else {
        for (auto el : arr) {
          od::value ev;
          if (std::move(el).get(ev)) return false;
          od::json_type t;
          if (ev.type().get(t)) return false;
          param st = param::absent;
          std::int64_t id = 0;
          if (t == od::json_type::object) {
            od::object o;
            if (ev.get_object().get(o)) return false;
            for (auto f2r : o) {
              od::field f2;
              if (std::move(f2r).get(f2)) return false;
              std::string_view k2;
              if (f2.unescaped_key().get(k2)) return false;
              if (k2 == "driveID") read_int(f2.value(), st, id);
            }
          } else {
            read_int(ev, st, id);
          }
          if (st != param::ok) c.drives_st = param::bad;
          else ++c.drive_count;
        }
      }
      if (c.drives_st == param::bad && c.first_bad_param.empty()) c.first_bad_param = "drives";
    }
  }
  return true;
}

bool parse_into(od::parser& parser, const char* data, std::size_t len, rpc_call& c) {
  od::document doc;
  if (parser.iterate(simdjson::padded_string_view(data, len, len + json_padding)).get(doc)) {
    c.detail = "the request is not JSON";
    return false;
  }
  od::object obj;
  if (doc.get_object().get(obj)) {
    c.detail = "the request is not a JSON object";
    return false;
  }
  bool saw_method = false;
  for (auto field_result : obj) {
    od::field field;
    if (std::move(field_result).get(field)) {
      c.detail = "malformed JSON";
      return false;
    }
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      c.detail = "malformed JSON";
      return false;
    }
    od::value v = field.value();
    if (key == "method") {
      std::string_view name;
      if (v.get_string().get(name)) {
        c.st = rpc_call::status::bad_envelope;
        c.detail = "'method' must be a string";
      } else {
        saw_method = true;
        c.method_name = name;
        c.m = method_from_name(name);
      }
    } else if (key == "id") {
      od::json_type t;
      if (v.type().get(t)) {
        c.detail = "malformed JSON";
        return false;
      }
      if (t == od::json_type::null) {
        if (!v.is_null()) {
          c.detail = "malformed JSON";
          return false;
        }
        c.id_raw = "null";
      } else if (t == od::json_type::string) {
        std::string_view raw = trim_right(v.raw_json_token());
        std::string_view s;
        if (v.get_string().get(s)) {
          c.detail = "malformed JSON";
          return false;
        }
        c.id_raw = raw;
      } else if (t == od::json_type::number) {
        std::string_view raw = trim_right(v.raw_json_token());
        double d;
        if (v.get_double().get(d)) {
          c.detail = "malformed JSON";
          return false;
        }
        c.id_raw = raw;
      } else {
        c.st = rpc_call::status::bad_envelope;
        c.detail = "'id' must be an integer, a string or null";
      }
    } else if (key == "params") {
      od::json_type t;
      if (v.type().get(t)) {
        c.detail = "malformed JSON";
        return false;
      }
      if (t == od::json_type::null) continue;
      od::object params;
      if (t != od::json_type::object || v.get_object().get(params)) {
        c.st = rpc_call::status::bad_envelope;
        c.detail = "'params' must be an object (named parameters)";
        continue;
      }
      if (!read_params(params, c)) {
        c.detail = "malformed JSON";
        return false;
      }
    }
  }
  const char* loc = nullptr;
  if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) {
    c.detail = "trailing characters after the JSON object";
    return false;
  }
  if (c.st == rpc_call::status::ok && !saw_method) {
    c.st = rpc_call::status::bad_envelope;
    c.detail = "'method' is missing";
  }
  return true;
}

}  // namespace

const rpc_call& request_parser::parse(const char* data, std::size_t len) {
  rpc_call& c = impl_->call;
  std::vector<std::int64_t> volumes = std::move(c.volumes);  // keep its capacity
  volumes.clear();
  c = rpc_call{};
  c.volumes = std::move(volumes);
  try {
    if (!parse_into(impl_->parser, data, len, c)) {
      c.st = rpc_call::status::malformed;
      c.id_raw = "null";
    }
  } catch (const std::exception&) {  // allocation failure inside simdjson
    c.st = rpc_call::status::malformed;
    c.id_raw = "null";
    c.detail = "the request could not be parsed";
  }
  return c;
}

}  // namespace pollster::sim::detail
