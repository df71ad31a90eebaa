package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// BearerAuth returns a Connect interceptor that refuses every call (unary and streaming) whose
// Authorization header is not "Bearer <token>", with UNAUTHENTICATED. An empty token
// disables the check. Mount it on the handlers of the APIs to protect, not on health.
func BearerAuth(token string) connect.Interceptor { return bearerAuth{token: token} }

type bearerAuth struct{ token string }

func (a bearerAuth) check(h http.Header) error {
	if a.token == "" {
		return nil
	}
	got, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("missing bearer token: send the header Authorization: Bearer <token>"))
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("invalid bearer token"))
	}
	return nil
}

func (a bearerAuth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		if err := a.check(req.Header()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a bearerAuth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a bearerAuth) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := a.check(conn.RequestHeader()); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// WithBearer returns a client interceptor that sends "Authorization: Bearer <token>" on every
// call; an empty token sends nothing.
func WithBearer(token string) connect.Interceptor { return bearerClient{token: token} }

type bearerClient struct{ token string }

func (c bearerClient) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if c.token != "" && req.Spec().IsClient {
			req.Header().Set("Authorization", "Bearer "+c.token)
		}
		return next(ctx, req)
	}
}

func (c bearerClient) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if c.token != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+c.token)
		}
		return conn
	}
}

func (c bearerClient) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
