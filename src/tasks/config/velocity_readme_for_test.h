// Test-only: the velocity.yml example of VelocityCache's README, byte for
// byte (issue 14: it must parse and run unchanged).
#pragma once

namespace cellar::tasks {

inline constexpr char kVelocityReadme[] = R"(version: 1
remote:
  enabled: true
  url: "http://localhost:8080"
  token: "${VC_AUTH_TOKEN}" # Supports env var expansion

pipeline:
  build:
    command: "npm run build"
    inputs:
      - "src/**"
      - "package.json"
    outputs:
      - "dist/**"
    depends_on:
      - "^build" # Topological dependency
)";

}  // namespace cellar::tasks
