#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "capture.h"

static void set_err(char* err, int errlen, const std::string& msg) {
    if (err == NULL || errlen <= 0) {
        return;
    }
    std::strncpy(err, msg.c_str(), errlen - 1);
    err[errlen - 1] = 0;
}

LsCapture ls_capture_open(const char* name, int api, const int* params, int nparams, char* err, int errlen) {
    std::vector<int> p(params, params + nparams);
    cv::VideoCapture* vc = new cv::VideoCapture();
    try {
        if (vc->open(std::string(name), api, p) && vc->isOpened()) {
            return vc;
        }
        set_err(err, errlen, "");
    } catch (const cv::Exception& e) {
        set_err(err, errlen, e.what());
    } catch (const std::exception& e) {
        set_err(err, errlen, e.what());
    }
    delete vc;
    return NULL;
}

int ls_capture_read(LsCapture c, void* mat, char* err, int errlen) {
    cv::VideoCapture* vc = static_cast<cv::VideoCapture*>(c);
    cv::Mat* m = static_cast<cv::Mat*>(mat);
    try {
        return vc->read(*m) && !m->empty() ? 1 : 0;
    } catch (const cv::Exception& e) {
        set_err(err, errlen, e.what());
    } catch (const std::exception& e) {
        set_err(err, errlen, e.what());
    }
    return 0;
}

int ls_capture_set(LsCapture c, int prop, double value) {
    try {
        return static_cast<cv::VideoCapture*>(c)->set(prop, value) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

double ls_capture_get(LsCapture c, int prop) {
    try {
        return static_cast<cv::VideoCapture*>(c)->get(prop);
    } catch (...) {
        return 0;
    }
}

void ls_capture_close(LsCapture c) {
    cv::VideoCapture* vc = static_cast<cv::VideoCapture*>(c);
    try {
        vc->release();
    } catch (...) {
    }
    delete vc;
}

int ls_has_backend(int api) {
    try {
        return cv::videoio_registry::hasBackend(static_cast<cv::VideoCaptureAPIs>(api)) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

int ls_backend_name(int api, char* out, int outlen) {
    try {
        set_err(out, outlen, cv::videoio_registry::getBackendName(static_cast<cv::VideoCaptureAPIs>(api)));
        return 1;
    } catch (...) {
        return 0;
    }
}
