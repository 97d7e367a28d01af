#!/usr/bin/env python3
"""Lists the string literals of app files that look user-facing: file, line, literal, context."""
import re, sys, json, os
SKIP_ATTR = re.compile(r'(data-[\w-]+|class|id|href|type|name|for|role|autocomplete|aria-controls|aria-describedby|aria-labelledby|inputmode|key|method|accept|src|rel|target|style|aria-live|aria-haspopup|aria-current|aria-expanded|spellcheck|enterkeyhint|pattern|lang|tabindex|aria-hidden|prop:value|value|min|max|step|width|height|viewBox|d|fill|stroke|loading|decoding|alt_skip)\s*=\s*$')
def literals(src):
    i=0; n=len(src); line=1
    while i<n:
        c=src[i]
        if c=='\n': line+=1; i+=1; continue
        if src.startswith('//',i):
            j=src.find('\n',i); i=n if j<0 else j; continue
        if src.startswith('/*',i):
            j=src.find('*/',i); line+=src[i:j].count('\n'); i=j+2; continue
        if c=="'" :
            m=re.match(r"'(\\.|[^\\'])'",src[i:])
            if m: i+=len(m.group(0)); continue
            i+=1; continue
        if c=='r' and re.match(r'r#*"',src[i:]) and (i==0 or not (src[i-1].isalnum() or src[i-1]=='_')):
            m=re.match(r'r(#*)"',src[i:]); h=m.group(1); end=src.find('"'+h,i+len(m.group(0)))
            line+=src[i:end].count('\n'); i=end+1+len(h); continue
        if c=='b' and src.startswith('b"',i) and not (src[i-1].isalnum() or src[i-1]=='_'):
            i+=1
            j=i+1
            while src[j]!='"':
                j+= 2 if src[j]=='\\' else 1
            line+=src[i:j].count('\n'); i=j+1; continue
        if c=='"':
            j=i+1
            while src[j]!='"':
                j+= 2 if src[j]=='\\' else 1
            yield i, j+1, line, src[i:j+1]
            line+=src[i:j].count('\n'); i=j+1; continue
        i+=1
def interesting(lit, before):
    s=lit[1:-1]
    if not re.search(r'[A-Za-z]',s): return False
    if SKIP_ATTR.search(before[-40:]): return False
    if re.search(r'(expect|panic!|unreachable!|log!|console::\w+|warn!|debug_assert\w*!|assert\w*!|error!|Reflect::get|Reflect::set|get_item|set_item|query_selector\w*|get_element_by_id|create_element|set_attribute|remove_attribute|get_attribute|add_event_listener\w*|dataset|\.get\(|header|push_str|starts_with|ends_with|strip_prefix|contains|==|!=|matches!|PATH|const [A-Z_]+: &str =|pub const|path!|\.as_str\(\) ==)\s*\(?\s*&?$', before.strip()[-60:]): return False
    if re.fullmatch(r'[a-z0-9_./:\-#?=&{}%$ ]*', s) and ' ' not in s: return False
    if s.startswith(('/','.','#','$','http','application/','text/','leadcard')): return False
    return True
if __name__=='__main__':
    for path in sys.argv[1:]:
        src=open(path).read()
        cut=src.find('#[cfg(test)]')
        for a,b,line,lit in literals(src):
            if cut>=0 and a>cut: break
            before=src[max(0,a-80):a]
            if interesting(lit,before):
                ctx=before.replace('\n',' ')[-40:]
                print(f"{path}:{line}: {lit}    <<{ctx.strip()}")
