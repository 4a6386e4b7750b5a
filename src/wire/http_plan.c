/* HTTP conditionals and ranges for one representation (wire/http.h says which rules). */
#include "wire/http.h"

#include <string.h>

/* 13.2.2: If-None-Match wins over If-Modified-Since. */
static bool
not_modified(const struct http_request *req, const struct http_resource *res)
{
	if (req->if_none_match.len)
		return res->etag && http_etag_list_match(req->if_none_match.p, req->if_none_match.len, res->etag);
	if (req->if_modified_since.len && res->mtime) {
		time_t ims;
		if (http_date_parse(req->if_modified_since.p, req->if_modified_since.len, &ims) == 0)
			return res->mtime <= ims;
	}
	return false;
}

/* 13.1.5: an If-Range holding an entity tag matches only a strong, equal
 * one; a date only the exact Last-Modified. Otherwise: the whole file. */
static bool
range_allowed(const struct http_request *req, const struct http_resource *res)
{
	if (!req->if_range.len)
		return true;
	const char *v = req->if_range.p;
	size_t n = req->if_range.len;
	if (v[0] == '"' || (n > 2 && v[0] == 'W' && v[1] == '/'))
		return res->etag && v[0] == '"' && n == strlen(res->etag) && memcmp(v, res->etag, n) == 0;
	time_t t;
	return res->mtime && http_date_parse(v, n, &t) == 0 && t == res->mtime;
}

void
http_response_plan(const struct http_request *req, const struct http_resource *res,
                   struct http_plan *plan)
{
	plan->status = 200;
	plan->first = 0;
	plan->length = res->size;
	if (not_modified(req, res)) {
		plan->status = 304;
		plan->length = 0;
		return;
	}
	if (!req->range.len || !range_allowed(req, res))
		return;
	uint64_t first, last;
	switch (http_range_parse(req->range.p, req->range.len, res->size, &first, &last)) {
	case HTTP_RANGE_SINGLE:
		plan->status = 206;
		plan->first = first;
		plan->length = last - first + 1;
		break;
	case HTTP_RANGE_UNSATISFIABLE:
		plan->status = 416;
		plan->length = 0;
		break;
	case HTTP_RANGE_MULTI:
	case HTTP_RANGE_NONE:
		break;
	}
}
