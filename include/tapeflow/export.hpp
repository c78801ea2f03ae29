#pragma once

#if defined(_WIN32)
#define TAPEFLOW_API __declspec(dllexport)
#else
#define TAPEFLOW_API __attribute__((visibility("default")))
#endif
