<book_bump_fast_path>:
	mov    rax,rdi
	mov    rdi,QWORD PTR [rsi+0x18]
	cmp    rcx,rdi
	ja     <book_bump_fast_path+0x1b>
	sub    rdi,rcx
	neg    rdx
	and    rdx,rdi
	cmp    rdx,QWORD PTR [rsi+0x20]
	jae    <book_bump_fast_path+0x24>
	mov    BYTE PTR [rax+0x1],0x0
	mov    cl,0x1
	mov    BYTE PTR [rax],cl
	ret
	mov    QWORD PTR [rsi+0x18],rdx
	mov    QWORD PTR [rax+0x8],rdx
	xor    ecx,ecx
	mov    BYTE PTR [rax],cl
	ret
