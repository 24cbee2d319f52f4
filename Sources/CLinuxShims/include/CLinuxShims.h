#ifndef TENSORWIRE_CLINUXSHIMS_H
#define TENSORWIRE_CLINUXSHIMS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#endif
