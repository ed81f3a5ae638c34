// Environment expansion in cellar.yml values (docs/cellar-yml.md, "Variables").
// "${NAME}" is replaced by the variable's value (empty when unset),
// "${NAME:-fallback}" by the fallback when the variable is unset or empty,
// and "$${" writes a literal "${". A bare "$NAME" is left alone so that shell
// variables in commands ("for f in *; do echo $f; done") reach the shell;
// ExpandBareVariables also replaces "$NAME" and is used for the fields that
// never go to a shell (remote url and token, project_id).
#pragma once

#include <string>
#include <string_view>

#include "tasks/config/config.h"

namespace cellar::tasks {

// Fails (kInvalidArgument) on an unterminated "${" or an invalid name;
// `error_offset` then holds the byte offset of the offending "$".
Result<std::string> ExpandVariables(std::string_view text, const EnvLookup& env,
                                    size_t* error_offset = nullptr);
Result<std::string> ExpandBareVariables(std::string_view text, const EnvLookup& env,
                                        size_t* error_offset = nullptr);

}  // namespace cellar::tasks
