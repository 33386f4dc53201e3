// The test vectors of /work/shared/docs/element-api.md, verbatim, and what a
// correct parse of each must yield (benchmarks check it: a fast wrong answer
// cannot win).
#pragma once

#include <string_view>

namespace pollster::bench {

struct vector {
  const char* name;
  std::string_view json;
  bool method_error;            ///< the envelope carries `error`
  bool get_async_result;        ///< the envelope's result is GetAsyncResult's
  bool complete;                ///< status "complete" (else "running")
  std::string_view error_name;  ///< method error or task error name
  std::string_view result_type;
  std::string_view member_raw;  ///< result (succeeded), error (failed), details (running)
};

inline constexpr vector kVectors[] = {
    {"no_such_path",
     R"({"error": {"code": 500, "message": "DBClient operation requested on a non-existent path at [/asyncresults/1]", "name": "xDBNoSuchPath"}, "id": 1})",
     true, false, false, "xDBNoSuchPath", "", ""},
    {"handle_does_not_exist",
     R"({"error": {"code": 500, "message": "Async handle 999999999 does not exist.", "name": "xAsyncHandleDoesNotExist"}})",
     true, false, false, "xAsyncHandleDoesNotExist", "", ""},
    {"task_failed",
     R"({"id": 1, "result": {"createTime": "2016-01-01T02:05:53Z", "error": {"bvID": 1, "message": "Bulk volume job failed", "name": "xBulkVolumeScriptFailure", "volumeID": 34}, "lastUpdateTime": "2016-01-21T02:06:56Z", "resultType": "BulkVolume", "status": "complete"}})",
     false, true, true, "xBulkVolumeScriptFailure", "BulkVolume",
     R"({"bvID": 1, "message": "Bulk volume job failed", "name": "xBulkVolumeScriptFailure", "volumeID": 34})"},
    {"succeeded",
     R"({"id": 1, "result": {"createTime": "2016-01-01T22:29:18Z", "lastUpdateTime": "2016-01-01T22:45:51Z", "result": {"cloneID": 25, "message": "Clone complete.", "volumeID": 47}, "resultType": "Clone", "status": "complete"}})",
     false, true, true, "", "Clone", R"({"cloneID": 25, "message": "Clone complete.", "volumeID": 47})"},
    {"running",
     R"({"id": 7, "result": {"createTime": "2016-01-01T22:29:18Z", "details": {"percentComplete": 8.17, "bytesPerSecond": 305461.3, "currentBytes": 81788928, "totalBytes": 1001390080, "stage": "whole"}, "lastUpdateTime": "2016-01-01T22:30:02Z", "resultType": "Clone", "status": "running"}})",
     false, true, false, "", "Clone",
     R"({"percentComplete": 8.17, "bytesPerSecond": 305461.3, "currentBytes": 81788928, "totalBytes": 1001390080, "stage": "whole"})"},
    {"list_async_results",
     R"({"id": 1, "result": {"asyncHandles": [{"asyncResultID": 47, "completed": true, "createTime": "2016-01-01T22:29:19Z", "data": {"cloneID": 26, "message": "Clone complete.", "volumeID": 48}, "lastUpdateTime": "2016-01-01T22:45:43Z", "resultType": "Clone", "success": true}]}})",
     false, false, false, "", "", ""},
};

}  // namespace pollster::bench
