package server

import (
	"context"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
)

// Validate parses and checks an app offline; problems are reported in the response.
func (s *Service) Validate(_ context.Context, req *connect.Request[weirv1.ValidateRequest]) (*connect.Response[weirv1.ValidateResponse], error) {
	p, diags, err := parse(sourceFromProto(req.Msg.GetSource()))
	resp := &weirv1.ValidateResponse{Diagnostics: toProto(diags)}
	if err != nil {
		if diags.HasErrors() {
			return connect.NewResponse(resp), nil
		}
		return nil, err // no files, duplicate names
	}
	resp.Valid = true
	resp.App = p.App.Name
	resp.NormalizedJson = string(p.Normalized)
	return connect.NewResponse(resp), nil
}
