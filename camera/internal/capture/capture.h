// C interface to cv::VideoCapture for the parts gocv v0.31.0 does not expose:
// open-only parameters (timeouts) and backend availability.
#ifndef LINESIDE_CAPTURE_H
#define LINESIDE_CAPTURE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void* LsCapture;

LsCapture ls_capture_open(const char* name, int api, const int* params, int nparams, char* err, int errlen);
int ls_capture_read(LsCapture c, void* mat, char* err, int errlen);
int ls_capture_set(LsCapture c, int prop, double value);
double ls_capture_get(LsCapture c, int prop);
void ls_capture_close(LsCapture c);
int ls_has_backend(int api);
int ls_backend_name(int api, char* out, int outlen);

#ifdef __cplusplus
}
#endif

#endif
