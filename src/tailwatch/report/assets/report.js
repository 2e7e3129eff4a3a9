// tailwatch HTML report: map pan/zoom and leg highlighting; inlined into every page.
(function(){
document.querySelectorAll('svg.map').forEach(function(svg){
  var b=svg.viewBox.baseVal, init=[b.x,b.y,b.width,b.height], vb=init.slice(), drag=null;
  function set(){svg.setAttribute('viewBox',vb.join(' '));}
  svg.addEventListener('wheel',function(e){e.preventDefault();var r=svg.getBoundingClientRect();
    var fx=(e.clientX-r.left)/r.width, fy=(e.clientY-r.top)/r.height, k=e.deltaY<0?0.8:1.25;
    var w=Math.min(init[2],vb[2]*k), h=w*init[3]/init[2];
    vb=[vb[0]+(vb[2]-w)*fx, vb[1]+(vb[3]-h)*fy, w, h]; set();},{passive:false});
  svg.addEventListener('pointerdown',function(e){drag=[e.clientX,e.clientY];svg.setPointerCapture(e.pointerId);});
  svg.addEventListener('pointermove',function(e){if(!drag)return;var r=svg.getBoundingClientRect();
    vb[0]-=(e.clientX-drag[0])*vb[2]/r.width; vb[1]-=(e.clientY-drag[1])*vb[3]/r.height; drag=[e.clientX,e.clientY]; set();});
  svg.addEventListener('pointerup',function(){drag=null;});
  svg.addEventListener('dblclick',function(){vb=init.slice();set();});
});
document.querySelectorAll('section.aircraft').forEach(function(sec){
  function hl(leg,on){sec.querySelectorAll('[data-leg="'+leg+'"]').forEach(function(el){el.classList.toggle('hl',on);});}
  sec.querySelectorAll('[data-leg]').forEach(function(el){var leg=el.getAttribute('data-leg');
    el.addEventListener('mouseenter',function(){hl(leg,true);});el.addEventListener('mouseleave',function(){hl(leg,false);});});
});
})();
